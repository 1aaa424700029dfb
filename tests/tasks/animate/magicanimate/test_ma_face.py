"""The face-attention adapter: zero-initialised it changes nothing; trained it acts on cond rows."""

import numpy as np
import torch

from tasks.animate.magicanimate.face import FaceAttention, FaceEncoder
from tests.tasks.animate.magicanimate.ma_seeding import pattern_video
from tests.tasks.animate.magicanimate.ma_tiny import tiny_pipeline, tiny_text, tiny_video_unet

TINY_FACE = {"crop_size": 32, "patch_size": 2, "hidden_dim": 16, "cross_attention_dim": 32}


def test_untrained_face_path_equals_plain_magicanimate() -> None:
    control, reference = pattern_video(16)
    face = reference[8:40, 16:48]
    outputs = []
    for face_encoder in (None, FaceEncoder(**TINY_FACE)):
        pipe = tiny_pipeline(face_encoder)
        store = np.zeros((16, 4, 8, 8), np.float32)
        video = pipe(
            reference,
            control,
            num_inference_steps=1,
            generator=torch.Generator().manual_seed(3),
            prompt_embeds=tiny_text(),
            face_image=None if face_encoder is None else face,
            latents_store=store,
        )
        outputs.append((video, store))
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])


def test_trained_face_attention_changes_conditional_rows_only() -> None:
    unet = tiny_video_unet()
    encoder = FaceEncoder(**TINY_FACE)
    face = FaceAttention(unet, encoder)
    assert len(face.processors) == 2 * 3 + 1 + 3 * 3  # every spatial block: down, mid, up
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 4, 4, 8, 8, generator=g).repeat(2, 1, 1, 1, 1)
    text = torch.randn(2, 5, 32, generator=g)
    tokens = encoder(torch.randn(1, 4, 4, 4, generator=g))
    assert tokens.shape == (1, 4, 32)
    with torch.no_grad():
        plain = unet(sample, 500, text).sample
        face.set_tokens(tokens)
        face.state.uncond_rows = 4
        for processor in face.processors.values():
            torch.nn.init.normal_(processor.to_out.weight, std=0.5, generator=g)
        out = unet(sample, 500, text).sample
    torch.testing.assert_close(out[0], plain[0], atol=0, rtol=0)
    assert (out[1] - plain[1]).abs().max() > 1e-3
