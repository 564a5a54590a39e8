"""The main job runs end to end on a small budget (the full demo is `make demo`)."""

from pathlib import Path

import pytest

from tokengym.agents.running.demo import DemoConfig, demo_preset, format_report, run_demo


@pytest.mark.slow
def test_demo_trains_evaluates_and_plots(tmp_path):
    train = demo_preset(
        total_timesteps=256, n_envs=4, n_steps=64, batch_size=64, n_epochs=1, out_dir=str(tmp_path), progress_bar=False
    )
    cfg = DemoConfig(train=train, eval_episodes=3)
    result = run_demo(cfg, log=lambda *_: None)
    assert len(result["before"].returns) == len(result["after"].returns) == 3 * cfg.eval_samples
    assert (tmp_path / "learning_curve.png").stat().st_size > 10_000
    # The demo writes the checkpoint of `tokengym train`, which `tokengym eval` loads.
    checkpoint = Path(result["model"])
    assert checkpoint.parent == tmp_path / "checkpoints" and (checkpoint / "checkpoint.json").is_file()
    text = format_report(result)
    assert "zero-shot" in text and "trained" in text and "mean reward" in text
    assert "politeness" in text and "KL penalty 0.05" in text
    assert result["after"].components.keys() == {
        "relevance_lexical",
        "verbosity",
        "repetition",
        "brevity",
        "politeness",
    }


def test_demo_config_checks_its_budget():
    with pytest.raises(ValueError, match="less than one rollout"):
        demo_preset(total_timesteps=10)
    with pytest.raises(ValueError, match="must divide"):
        demo_preset(batch_size=100)
    with pytest.raises(ValueError, match="group_size must be a positive integer"):
        demo_preset(group_size=0)
    with pytest.raises(ValueError, match="eval_samples must be a positive integer"):
        DemoConfig(eval_samples=0)
