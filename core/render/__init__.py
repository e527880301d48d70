"""Drawing on the GPU: pipeline load, placement, compile and one generation; the memory
strategy chooser; guidance; the demo models; measured speed estimates."""
