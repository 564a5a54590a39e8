"""Supervised learning on text: fine-tuning on a task's demonstrations (:mod:`.sft`) and the pretraining of the
embedded default model (:mod:`.pretrain`)."""
