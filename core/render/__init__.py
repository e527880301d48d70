"""Drawing on the GPU: the pipeline (load, placement, compile, fast modes) and one
generation; the memory strategy chooser; guidance; the demo models; measured speed
estimates."""
