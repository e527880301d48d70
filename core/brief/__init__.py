"""The design brief: draft intake, the art-director prompt, the section parser, the decode
loop and the VL runtime that loads Qwen2.5-VL for one brief and frees it."""
