"""Greedy decoding for the fast brief: a static KV cache, a compiled one-token step, and no
host sync per token.

HF `generate` with a static cache already compiles the one-token forward, yet on an H100 a
Qwen2.5-VL-3B token cost 6.6-7.1 ms against a ~2 ms weight-read floor (BENCHMARKS.md).
The rest is host work that `generate` cannot overlap with the GPU: every token it reads
`unfinished_sequences.max()` back to the host, so the host waits for the GPU, and then the
GPU waits while the host prepares the next step. This loop asks the GPU whether the brief
has ended only every `check_every` tokens, so the host queues tokens ahead while the GPU
runs them.

It produces exactly the tokens of `generate(do_sample=False, repetition_penalty=p)`:
the same logits (same model, same cache layout), the same penalty arithmetic in fp32, the
same argmax, and the answer cut after its first end token. A CPU test holds it to that.
The tokens computed after an end token (fewer than `check_every`) are thrown away.
"""

from __future__ import annotations

import torch

DEFAULT_CHECK_EVERY = 32
# The static cache's length is part of the compiled graph's shape. Sized to each brief
# (prompt + budget), every draft of a new size would pay a new compile (~40 s on an H100,
# and after 8 shapes dynamo gives up and runs eagerly). Rounded up to this bucket, every
# brief up to 4096 tokens (a 1024 px draft is ~1,400 image tokens, plus the instructions
# and a 1,024-token budget) shares one compiled step. The unused slots are masked; by
# arithmetic, reading them adds ~150 MB a token to the 3B's ~6.2 GB of weight reads.
CACHE_BUCKET = 4096

# One compiled step per process: the compile (tens of seconds on a GPU) is paid by the
# first fast brief and reused by every later one, also after a fresh transient load.
_COMPILED_STEP = None


def _decode_step(model, token: torch.Tensor, position: torch.Tensor, cache) -> torch.Tensor:
    """One token through the language model, its K/V written into the static cache."""
    output = model(input_ids=token, position_ids=position, past_key_values=cache, use_cache=True)
    return output.logits[:, -1]


def compiled_step():
    """The one-token step compiled with CUDA graphs ("reduce-overhead"), as transformers
    compiles it for `generate`: a fixed-shape static cache makes every step the same graph."""
    global _COMPILED_STEP
    if _COMPILED_STEP is None:
        _COMPILED_STEP = torch.compile(_decode_step, mode="reduce-overhead", fullgraph=False, dynamic=False)
    return _COMPILED_STEP


def cache_length(prompt_length: int, max_new_tokens: int) -> int:
    """Static cache slots for a brief: enough for the prompt and the budget, in buckets."""
    needed = prompt_length + max_new_tokens
    return -(-needed // CACHE_BUCKET) * CACHE_BUCKET


def next_token(
    logits: torch.Tensor, seen: torch.Tensor, repetition_penalty: float, blocked: torch.Tensor | None
) -> torch.Tensor:
    """HF's greedy pick with its repetition penalty: every token already in the sequence
    (prompt included) has a positive score divided by the penalty and a negative one
    multiplied by it. `blocked` ids (the end tokens before `min_new_tokens`) get -inf."""
    scores = logits.float()
    if repetition_penalty != 1.0:
        penalized = torch.where(scores < 0, scores * repetition_penalty, scores / repetition_penalty)
        scores = torch.where(seen, penalized, scores)
    if blocked is not None:
        scores = scores.index_fill(1, blocked, float("-inf"))
    return scores.argmax(dim=-1)


def static_greedy_decode(
    model,
    inputs: dict,
    eos_ids: set[int],
    max_new_tokens: int,
    repetition_penalty: float = 1.0,
    min_new_tokens: int = 0,
    compile: bool = True,
    check_every: int = DEFAULT_CHECK_EVERY,
) -> torch.Tensor:
    """The new token ids (1-D, on the model's device), ending with the end token when the
    model ended the answer. `inputs` is the processor's output for one prompt."""
    from transformers import StaticCache

    input_ids = inputs["input_ids"]
    if input_ids.shape[0] != 1:
        raise ValueError("static_greedy_decode writes one brief at a time")
    device = input_ids.device
    prompt_length = input_ids.shape[1]
    cache = StaticCache(config=model.config, max_cache_len=cache_length(prompt_length, max_new_tokens))
    step = compiled_step() if compile else _decode_step

    # Prefill, eager: the vision tower and the whole prompt, once. It also sets the
    # multimodal RoPE offset of the text that follows the image (`rope_deltas`).
    output = model(**inputs, past_key_values=cache, use_cache=True, logits_to_keep=1)
    logits = output.logits[:, -1]
    del output
    rope_deltas = model.model.rope_deltas
    # Text after the prompt has the same position on all three RoPE axes: its index + delta.
    position = (rope_deltas.reshape(1, 1, 1).to(device) + prompt_length).expand(3, 1, 1).contiguous()

    seen = torch.zeros(1, logits.shape[-1], dtype=torch.bool, device=device)
    seen.scatter_(1, input_ids, True)
    eos = torch.tensor(sorted(eos_ids), dtype=torch.long, device=device)
    tokens = torch.empty(max_new_tokens, dtype=torch.long, device=device)

    for index in range(max_new_tokens):
        token = next_token(logits, seen, repetition_penalty, eos if index < min_new_tokens else None)
        tokens[index] = token[0]
        seen.scatter_(1, token[:, None], True)
        done = index + 1
        # The only host sync: has an end token appeared in the last `check_every` tokens?
        if done % check_every == 0 or done == max_new_tokens:
            ended = torch.isin(tokens[:done], eos).nonzero()
            if ended.numel():
                return tokens[: int(ended[0, 0]) + 1]
        if done < max_new_tokens:
            if compile:
                torch.compiler.cudagraph_mark_step_begin()
            logits = step(model, token[:, None], position, cache)
            position.add_(1)
    return tokens
