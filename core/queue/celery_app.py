"""The Celery app, configured for long GPU tasks over a Redis broker.

Only configuration lives here, so the web app can send tasks without importing the worker's
code (core/queue/celery_worker.py defines the tasks and is what `celery -A` loads). Tasks are
sent by name and carry a job id only; the jobs table holds everything else.

Why each setting:
- `task_acks_late`: a task is acknowledged when it ends, not when it starts, so a worker
  that dies mid-job leaves the task to be delivered again;
- `task_reject_on_worker_lost`: when the pool process running a task is killed (SIGKILL, the
  OOM killer), the task goes back to the queue at once instead of being marked failed;
- `worker_prefetch_multiplier=1`: a worker reserves one task at a time, so a second GPU
  worker is not starved while jobs wait behind the first one's current poster;
- `visibility_timeout` longer than any job: Redis hands an unacknowledged task to another
  worker after it, and a slow job must not be redelivered while it still runs;
- no result backend: results, progress and errors are written to the jobs table.
"""

from __future__ import annotations

from celery import Celery

from core.settings import Settings

GPU_QUEUE = "gpu"
DRAW_POSTER = "studio.draw_poster"
WRITE_BRIEF = "studio.write_brief"


def make_celery_app(settings: Settings) -> Celery:
    app = Celery("qwen_poster_studio", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=GPU_QUEUE,
        task_routes={DRAW_POSTER: {"queue": GPU_QUEUE}, WRITE_BRIEF: {"queue": GPU_QUEUE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        # A Generate click must not hang on a broker that is down: the first send gives up
        # quickly, and the dispatcher (core/queue/dispatch.py) sends later.
        broker_connection_timeout=2.0,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        # The model loads in each pool process after the fork (celery_worker.py), in a
        # thread, so the process answers Celery's start-up check in time.
        worker_proc_alive_timeout=60.0,
    )
    return app
