"""Language-model policies for Stable-Baselines3, model loading and baselines (see DESIGN.md)."""
