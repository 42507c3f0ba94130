"""Log failure prediction: flag alert log lines and warn ahead of them.

Templates are mined with Drain (drain3) at training time; the detector blends a character
n-gram model of the masked message with a severity prior, weighted by how close a line is to
the messages seen in training, so lines of templates never seen before still get a score.
"""

MODEL_NAME = "logfailure"
