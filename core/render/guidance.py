"""Classifier-free guidance as one batch of 2, for when the transformer's weights stream.

QwenImagePipeline calls the transformer twice per step: first with the prompt, then with the
negative prompt, on the same latents and timestep. When most blocks stream from host
memory (the group_offload strategy, core/render/memory.py), each call moves every streamed block
across the PCIe link, so two calls move them twice. Measured on an H100 under a 24 GiB cap:
1.12 s/step with two calls, 0.80 s/step as one batch (BENCHMARKS.md).

`BatchedGuidance` makes the first call of a step run both (the shorter text zero-padded)
and hands the stored half to the second call. Padding needs a mask, and a masked attention
falls off PyTorch's fastest kernel (0.96 s/step against 0.65 with the efficient kernel on
resident weights), so `SplitTextAttnProcessor` runs the joint attention per row on that
row's real tokens only, without a mask. Every linear layer still sees the batch of 2, which
is what halves the weight traffic; the attention of each row sees exactly what it would see
alone, so the result is the two-call result up to GEMM rounding.
"""

from __future__ import annotations

import torch

from diffusers.models.attention_dispatch import dispatch_attention_fn
from diffusers.models.transformers.transformer_qwenimage import (
    QwenDoubleStreamAttnProcessor2_0,
    apply_rotary_emb_qwen,
)

from core.render.guidance_calls import GuidanceCalls


class SplitTextAttnProcessor(QwenDoubleStreamAttnProcessor2_0):
    """diffusers' Qwen double-stream attention, except that with `text_lengths` (one host
    int per batch row) each row attends over its own first `text_lengths[row]` text tokens
    plus all image tokens, with no mask. Without `text_lengths` it is the diffusers one."""

    def __call__(
        self,
        attn,
        hidden_states: torch.FloatTensor,
        encoder_hidden_states: torch.FloatTensor = None,
        encoder_hidden_states_mask: torch.FloatTensor = None,
        attention_mask: torch.FloatTensor | None = None,
        image_rotary_emb: torch.Tensor | None = None,
        text_lengths: tuple[int, ...] | None = None,
    ) -> torch.FloatTensor:
        if text_lengths is None:
            return super().__call__(
                attn, hidden_states, encoder_hidden_states, encoder_hidden_states_mask, attention_mask, image_rotary_emb
            )
        seq_txt = encoder_hidden_states.shape[1]
        head_dim = attn.inner_dim // attn.heads

        # The projections, QK norms and RoPE are diffusers' (diffusers/models/transformers/transformer_qwenimage.py).
        img_query = attn.to_q(hidden_states).unflatten(-1, (-1, head_dim))
        img_key = attn.to_k(hidden_states).unflatten(-1, (-1, head_dim))
        img_value = attn.to_v(hidden_states).unflatten(-1, (-1, head_dim))
        txt_query = attn.add_q_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim))
        txt_key = attn.add_k_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim))
        txt_value = attn.add_v_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim))
        if attn.norm_q is not None:
            img_query = attn.norm_q(img_query)
        if attn.norm_k is not None:
            img_key = attn.norm_k(img_key)
        if attn.norm_added_q is not None:
            txt_query = attn.norm_added_q(txt_query)
        if attn.norm_added_k is not None:
            txt_key = attn.norm_added_k(txt_key)
        if image_rotary_emb is not None:
            img_freqs, txt_freqs = image_rotary_emb
            img_query = apply_rotary_emb_qwen(img_query, img_freqs, use_real=False)
            img_key = apply_rotary_emb_qwen(img_key, img_freqs, use_real=False)
            txt_query = apply_rotary_emb_qwen(txt_query, txt_freqs, use_real=False)
            txt_key = apply_rotary_emb_qwen(txt_key, txt_freqs, use_real=False)

        txt_outputs, img_outputs = [], []
        for row, length in enumerate(text_lengths):
            rows = slice(row, row + 1)
            # [text, image], as diffusers orders the joint sequence, without the padding.
            query = torch.cat([txt_query[rows, :length], img_query[rows]], dim=1)
            key = torch.cat([txt_key[rows, :length], img_key[rows]], dim=1)
            value = torch.cat([txt_value[rows, :length], img_value[rows]], dim=1)
            joint = dispatch_attention_fn(
                query, key, value, dropout_p=0.0, is_causal=False, backend=self._attention_backend
            ).flatten(2, 3).to(query.dtype)
            # Padded text positions get zeros: no real token ever attends to them.
            txt_outputs.append(torch.nn.functional.pad(joint[:, :length], (0, 0, 0, seq_txt - length)))
            img_outputs.append(joint[:, length:])
        txt_attn_output = torch.cat(txt_outputs)
        img_attn_output = torch.cat(img_outputs)

        img_attn_output = attn.to_out[0](img_attn_output.contiguous())
        if len(attn.to_out) > 1:
            img_attn_output = attn.to_out[1](img_attn_output)
        txt_attn_output = attn.to_add_out(txt_attn_output.contiguous())
        return img_attn_output, txt_attn_output


def install_split_attention(transformer) -> None:
    """Give every attention layer the split processor. It behaves exactly like diffusers'
    own when no `text_lengths` are passed, so it can stay installed for single calls."""
    transformer.set_attn_processor(SplitTextAttnProcessor())


class BatchedGuidance(GuidanceCalls):
    """Answers the pipeline's two guidance calls of a step with one batch-of-2 forward.

    Use as a context manager around the pipeline call; it wraps `transformer.forward`
    (diffusers' offloading hooks included) and restores it on exit. The first call of each
    step (the prompt) runs prompt and negative together; the second (the negative) gets
    the stored half. `split_attention` passes each row's real text length to
    `SplitTextAttnProcessor`; without it the padding is masked instead."""

    def __init__(self, transformer, negative_embeds: torch.Tensor, negative_mask: torch.Tensor | None,
                 split_attention: bool = True):
        super().__init__(transformer)
        self.negative_embeds = negative_embeds
        self.negative_mask = negative_mask
        self.split_attention = split_attention

    def __call__(self, hidden_states, encoder_hidden_states, encoder_hidden_states_mask=None, timestep=None,
                 img_shapes=None, return_dict=True, attention_kwargs=None, **kwargs):
        if self.pending is not None:
            # The negative call of this step: its result was computed with the prompt's.
            if encoder_hidden_states.shape[1] != self.negative_embeds.shape[1]:
                raise RuntimeError("batched guidance got the pipeline's calls out of order")
            output, self.pending = self.pending, None
            return _output(output, return_dict)

        text, mask, lengths = pad_pair(
            encoder_hidden_states, encoder_hidden_states_mask, self.negative_embeds, self.negative_mask
        )
        attention_kwargs = dict(attention_kwargs or {})
        if self.split_attention:
            attention_kwargs["text_lengths"] = lengths
        output = self.forward(
            hidden_states=torch.cat([hidden_states, hidden_states]),
            encoder_hidden_states=text,
            encoder_hidden_states_mask=None if self.split_attention else mask,
            timestep=torch.cat([timestep, timestep]),
            img_shapes=img_shapes * 2 if img_shapes is not None else None,
            attention_kwargs=attention_kwargs,
            return_dict=False,
            **kwargs,
        )[0]
        positive, self.pending = output.chunk(2)
        return _output(positive, return_dict)


def _output(sample: torch.Tensor, return_dict: bool):
    if not return_dict:
        return (sample,)
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=sample)


def pad_pair(first, first_mask, second, second_mask):
    """Two [1, L, D] text embeddings as one [2, max L, D] batch, the mask of each row's real
    tokens, and those token counts as host ints (read once per step, not per layer)."""
    length = max(first.shape[1], second.shape[1])
    rows, masks, lengths = [], [], []
    for embeds, mask in ((first, first_mask), (second, second_mask)):
        valid = mask.bool() if mask is not None else torch.ones(embeds.shape[:2], dtype=torch.bool, device=embeds.device)
        pad = length - embeds.shape[1]
        rows.append(torch.nn.functional.pad(embeds, (0, 0, 0, pad)))
        masks.append(torch.nn.functional.pad(valid, (0, pad), value=False))
        # encode_prompts hands over all-valid masks (QwenImagePipeline trims padding), so the
        # real length is the sequence length; a mask with holes would need the slow path.
        lengths.append(embeds.shape[1])
    return torch.cat(rows), torch.cat(masks), tuple(lengths)
