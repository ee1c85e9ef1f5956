"""LoRA fine-tuning: the training request, hardware, training data and the trainer."""
