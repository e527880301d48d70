"""Jobs between the pages and the GPU: the JobQueue seam (base.py), its SQL implementation
(sql.py), and the worker that owns the pipeline and takes jobs in turn (runner.py), which runs
inside the app or as its own process (worker.py)."""
