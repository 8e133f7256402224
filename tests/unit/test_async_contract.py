"""The contract tells the async roles from the thread roles, and says why."""

import asyncio
import types

import pytest

from prodcon import contract, reference
from prodcon.errors import ContractError
from prodcon.reference import aio


def module(**parts) -> types.ModuleType:
    mod = types.ModuleType("student")
    for name, value in parts.items():
        setattr(mod, name, value)
    return mod


def test_a_queue_whose_get_is_a_coroutine_function_is_the_async_role():
    impl = contract.resolve("student", module(Queue=asyncio.Queue))
    assert impl.model == "asyncio"
    assert impl.model_reason == "Queue.get is a coroutine function"
    assert impl.Full is asyncio.QueueFull and impl.Empty is asyncio.QueueEmpty
    assert impl.producer is aio.producer and impl.consumer is aio.consumer
    assert impl.borrowed == {"producer", "consumer"}
    assert impl.stop == "sentinel"


def test_async_workers_alone_are_the_async_worker_role():
    async def producer(q, items):
        for item in items:
            await q.put(item)

    async def consumer(q, handle):
        while True:
            item = await q.get()
            q.task_done()
            if item is None:
                return
            handle(item)

    impl = contract.resolve("student", module(producer=producer, consumer=consumer,
                                              STOP="cancel"))
    assert impl.model == "asyncio" and impl.Queue is aio.Queue and impl.stop == "cancel"
    assert impl.model_reason == "consumer is a coroutine function"


def test_the_module_s_own_exceptions_are_used():
    class QueueFull(Exception):
        pass

    impl = contract.resolve("student", module(Queue=asyncio.Queue, QueueFull=QueueFull))
    assert impl.Full is QueueFull and impl.Empty is asyncio.QueueEmpty


def test_a_thread_queue_stays_a_thread_queue():
    impl = contract.resolve("reference", reference)
    assert impl.model == "threads" and impl.Queue is reference.Queue


def test_the_model_option_picks_the_bundled_reference_s_async_roles():
    impl = contract.resolve("reference", reference, "asyncio")
    assert impl.model == "asyncio" and impl.model_reason == contract.CHOSEN
    assert impl.Queue is aio.Queue and impl.borrowed == frozenset()


@pytest.mark.parametrize("model", ["threads", "asyncio"])
def test_a_module_judged_for_the_other_model_is_told_so(model):
    queue_cls = asyncio.Queue if model == "threads" else reference.Queue
    with pytest.raises(ContractError, match="--prodcon-model=threads|asyncio"):
        contract.resolve("student", module(Queue=queue_cls), model)


def test_an_async_queue_with_a_coroutine_put_nowait_is_refused():
    class Queue(asyncio.Queue):
        async def put_nowait(self, item):  # awaited where asyncio.Queue's is plain
            super().put_nowait(item)

    with pytest.raises(ContractError, match="put_nowait is a coroutine function"):
        contract.resolve("student", module(Queue=Queue))


def test_a_bad_stop_is_refused():
    async def consumer(q, handle):
        pass

    with pytest.raises(ContractError, match="STOP"):
        contract.resolve("student", module(consumer=consumer, STOP="poison"))
