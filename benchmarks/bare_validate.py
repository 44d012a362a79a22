"""The bare loop `edgex validate` is measured against: stream batches of 32 images through Keras and LiteRT.

python benchmarks/bare_validate.py MODEL.keras MODEL.tflite IMAGE_FOLDER
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

tf.config.threading.set_intra_op_parallelism_threads(1)  # edgex validate --threads 1 runs both models so
tf.config.threading.set_inter_op_parallelism_threads(1)
model_path, tflite_path, folder = sys.argv[1:4]
model = keras.saving.load_model(model_path)
interpreter = Interpreter(model_path=tflite_path, num_threads=1)
interpreter.allocate_tensors()
(feed,), (fetch,) = interpreter.get_input_details(), interpreter.get_output_details()
files = sorted(p for p in Path(folder).iterdir() if p.suffix == ".jpg")
worst, count = 0.0, 0
for start in range(0, len(files), 32):
    images = [Image.open(p).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR) for p in files[start:][:32]]
    batch = np.stack([np.asarray(image, dtype=np.float32) for image in images]) / 255.0
    reference = model.predict_on_batch(batch)
    for index in range(len(batch)):
        interpreter.set_tensor(feed["index"], batch[index : index + 1])
        interpreter.invoke()
        worst = max(worst, float(np.abs(interpreter.get_tensor(fetch["index"])[0] - reference[index]).max()))
    count += len(batch)
print(f"{count} images, max |error| {worst:.3g}")
