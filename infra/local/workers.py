"""The queue consumers and scheduled jobs of the local stack, in a process apart from the API.

On AWS every consumer and job is a Lambda function of its own. Locally they share one process,
separate from the API's, so that API requests and the queue work they cause do not take turns
on one interpreter lock: under a long replay that lock, not moto, limited the whole stack.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

logger = logging.getLogger("local_stack")

# How often the process checks that it was asked to stop or that the stack is gone.
STOP_CHECK_SECONDS = 0.5
# Pollers of the consumers that one poller cannot keep up with; Lambda also runs several batches
# of a queue at once. Each ticket change sends the customer events consumer a few events, each
# applied in its own guarded transaction, and one poller fell behind a replay. Version guards
# and event markers make its concurrent batches safe.
POLLERS_PER_CONSUMER = {"handle_insights": 4}


def run(schedule_seconds: float, ready: Any) -> None:
    """Start every consumer and schedule, set `ready`, and run until SIGTERM or until the stack is gone.

    `ready` is a multiprocessing event of the stack. Ctrl-C reaches this process as well, so it
    ignores SIGINT, and the stack ends it with SIGTERM after the API stopped. A multiprocessing
    event to stop is not used, because setting one hangs when its waiting process was killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: terminated.set())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    parent = os.getppid()

    from app import app
    from functions import wiring

    wiring.reset()
    stopping = threading.Event()
    threads = start_consumers(app, stopping) + start_schedules(app, schedule_seconds, stopping)
    ready.set()

    while not terminated.wait(STOP_CHECK_SECONDS):
        if os.getppid() != parent:
            logger.error("the local stack process %d exited; consumers and schedules stop", parent)
            break
    stopping.set()
    for thread in threads:
        thread.join(timeout=5)


def start_consumers(app: Any, stopping: threading.Event) -> list[threading.Thread]:
    import boto3

    from infra.local.lambda_runtime import sqs_consumers
    from infra.local.pollers import QueuePoller

    sqs = boto3.client("sqs")
    threads = []
    for name, source in sqs_consumers(app).items():
        queue_url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        pollers = POLLERS_PER_CONSUMER.get(name, 1)
        for number in range(pollers):
            poller = QueuePoller(app, sqs, queue_url, name, source.batch_size)
            thread = threading.Thread(target=poller.run, args=(stopping,), name=f"{name}-{number}", daemon=True)
            thread.start()
            threads.append(thread)
        logger.info("consumer %s polling %s (%d %s)", name, source.queue, pollers, "poller" if pollers == 1 else "pollers")
    return threads


def start_schedules(app: Any, interval_seconds: float, stopping: threading.Event) -> list[threading.Thread]:
    from infra.local.lambda_runtime import scheduled_jobs
    from infra.local.pollers import Scheduler

    threads = []
    for name in scheduled_jobs(app):
        scheduler = Scheduler(app, name, interval_seconds)
        thread = threading.Thread(target=scheduler.run, args=(stopping,), name=name, daemon=True)
        thread.start()
        threads.append(thread)
        logger.info("schedule %s firing every %.0f s", name, interval_seconds)
    return threads
