"""Producer-consumer as it is usually taught (see the README): the shape most student
code has. `producer(q, n)` makes its own items and puts the sentinel itself;
`consumer(q)` takes no handler. `adapter.py` fits it to prodcon's contract.
"""

import queue
import random
import threading
import time

PAUSE = 0.001  # the classroom version sleeps up to a second; the kit does not need that


def producer(q, n):
    for i in range(n):
        item = f"item-{i}"
        q.put(item)
        print(f"Produced {item}")
        time.sleep(random.random() * PAUSE)
    q.put(None)  # sentinel value to signal completion


def consumer(q):
    while True:
        item = q.get()
        if item is None:  # exit on sentinel
            break
        print(f"Consumed {item}")
        q.task_done()
        time.sleep(random.random() * 2 * PAUSE)


if __name__ == "__main__":
    q = queue.Queue(maxsize=10)
    t1 = threading.Thread(target=producer, args=(q, 5))
    t2 = threading.Thread(target=consumer, args=(q,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
