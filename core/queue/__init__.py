"""Jobs between the pages and the GPU: the worker that owns the pipeline and takes jobs in
turn."""
