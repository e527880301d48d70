"""What the pages call: compose, reruns, reviews, export, the text check and the Studio that
wires them to storage and the models. The only core package that writes to storage."""
