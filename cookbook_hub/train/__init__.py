"""LoRA fine-tuning: the training request, hardware, training data and the trainer.

Calling the package, `cookbook_hub.train(config)`, is `cookbook_hub.train.trainer.train(config)`.
"""

from cookbook_hub import make_callable

make_callable(__name__, "cookbook_hub.train.trainer:train")
