"""Training: 20 steps on a tiny synthetic dataset lower the loss; resume continues exactly."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import UPRIGHT, axis_angle_to_6d, forward_kinematics
from tasks.motion.edge.checkpoint import EdgeWeights, load_edge
from tasks.motion.edge.model import DanceDecoder
from tasks.motion.edge.train import (
    STATE_FILE,
    TrainConfig,
    fit_normalizer,
    fk_torch,
    load_clips,
    train,
)
from tests.tasks.motion.edge.edge_testkit import TINY


def write_clips(folder, clips: int = 2, frames: int = 180) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(frames)[:, None] / 30.0
    for c in range(clips):
        phase = rng.uniform(0, 6, (1, 72))
        poses = (0.4 * np.sin(2 * np.pi * t + phase)).reshape(frames, 24, 3)
        poses[:, 0] = (Rotation.from_rotvec(poses[:, 0] * 0.2) * UPRIGHT).as_rotvec()
        trans = np.concatenate([0.2 * np.sin(t), 0.2 * np.cos(t), 0.9 + 0 * t], axis=1)
        features = np.sin(2 * np.pi * t * np.arange(1, 36) / 10).astype(np.float32)
        np.savez(folder / f"clip{c}.npz", poses=poses.reshape(frames, 72), trans=trans,
                 features=features)  # fmt: skip


def fresh_weights(motion) -> EdgeWeights:
    torch.manual_seed(0)
    return EdgeWeights(DanceDecoder(TINY), fit_normalizer(motion))


def test_fk_torch_matches_numpy_fk():
    rng = np.random.default_rng(1)
    poses = Rotation.random(5 * 24, random_state=2).as_rotvec().reshape(1, 5, 24, 3)
    trans = rng.normal(size=(1, 5, 3))
    got = fk_torch(torch.from_numpy(axis_angle_to_6d(poses)), torch.from_numpy(trans))
    assert np.allclose(got[0].numpy(), forward_kinematics(poses[0], trans[0]), atol=1e-9)


def test_twenty_steps_lower_the_loss_and_resume_is_exact(tmp_path):
    write_clips(tmp_path / "data")
    motion, cond = load_clips(tmp_path / "data")
    assert motion.shape == (6, 150, 151) and cond.shape == (6, 150, 35)  # 0.5 s stride
    config = TrainConfig(steps=20, batch_size=4, lr=3e-3, seed=0)
    losses = train(fresh_weights(motion), motion, cond, config, tmp_path / "a")
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    # 10 steps, then resume for the other 10: same weights as 20 straight
    half = TrainConfig(steps=10, batch_size=4, lr=3e-3, seed=0)
    resumed = fresh_weights(motion)
    train(resumed, motion, cond, half, tmp_path / "b")
    train(resumed, motion, cond, config, tmp_path / "b", resume=True)
    straight = torch.load(tmp_path / "a" / STATE_FILE, weights_only=True)["model_state_dict"]
    again = torch.load(tmp_path / "b" / STATE_FILE, weights_only=True)["model_state_dict"]
    for key, value in straight.items():
        assert torch.allclose(again[key], value, atol=1e-6), key
    # the saved state and the EMA folder both load for inference
    assert load_edge(tmp_path / "a" / STATE_FILE).model.config == TINY
    assert load_edge(tmp_path / "a" / "ema").model.config == TINY


def test_train_motion_command_fine_tunes_a_converted_checkpoint(tmp_path, capsys):
    import argparse

    from music2dance_cli.edge import register
    from tasks.motion.edge.checkpoint import save_converted

    write_clips(tmp_path / "data")
    motion, _ = load_clips(tmp_path / "data")
    init = save_converted(fresh_weights(motion), tmp_path / "init")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    argv = ["train-motion", str(tmp_path / "data"), str(tmp_path / "run"), "--init", str(init)]
    args = parser.parse_args([*argv, "--steps", "2", "--batch-size", "2"])
    assert args.func(args) == 0
    assert (tmp_path / "run" / "ema" / "model.safetensors").is_file()
    assert "motion.checkpoint=" in capsys.readouterr().out
