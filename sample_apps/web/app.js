// Classify digit images in the browser with a .tflite that `edgex build` made, on LiteRT.js (WASM, CPU).
//
// Everything the page needs to know about the model comes from dist/edgex-manifest.json: which file, its input
// shape, layout and dtype, the I/O quantization parameters, the preprocessing (x = (pixel * scale - mean) / std)
// and the class names. The class names are read from the .tflite itself when edgex embedded them (TFLite
// Metadata: labels.txt and edgex_metadata.json in a zip appended to the flatbuffer); the manifest's list is the
// fallback. Query parameters:
//   manifest  URL of edgex-manifest.json            [dist/edgex-manifest.json]
//   model     model id in the manifest              [the first with a runnable .tflite]
//   target    build target id (cell) in the manifest [the first runnable one]
//   images    URL of a JSON list of image URLs      [images/index.json]
//   wasm      folder with LiteRT.js's .wasm files   [node_modules/@litertjs/core/wasm/]
// Results are printed in a table and exposed as window.edgexResults for tests.
import {loadAndCompile, loadLiteRt, Tensor} from '@litertjs/core';

// LiteRT.js tensors are float32, int32 or uint8: int8 I/O models need `io_dtype = "uint8"` or "float32".
const RUNNABLE_DTYPES = new Set(['float32', 'uint8']);

const params = new URLSearchParams(location.search);
const statusLine = document.getElementById('status');

function runnable(entry) {
  const tensors = [...entry.inputs, ...entry.outputs];
  return entry.format === 'tflite' && !entry.accelerator && entry.preprocessing &&
      tensors.every((t) => RUNNABLE_DTYPES.has(t.dtype));
}

function chooseArtifact(manifest) {
  const wanted = manifest.artifacts.filter((entry) =>
    (!params.get('model') || entry.model === params.get('model')) &&
    (!params.get('target') || entry.cell.split('/')[1] === params.get('target')));
  const entry = wanted.find(runnable);
  if (!entry) {
    const seen = wanted.map((e) => `${e.path} (${e.inputs.map((t) => t.dtype).join(',')})`).join('; ');
    throw new Error(`no .tflite with float32/uint8 I/O for this model/target in the manifest: ${seen || 'none'}`);
  }
  return entry;
}

async function readPixels(url, prep) {
  const blob = await (await fetch(url)).blob();
  // No colour management or premultiplication: the model must see the file's pixel values, as PIL reads them.
  const bitmap = await createImageBitmap(blob, {colorSpaceConversion: 'none', premultiplyAlpha: 'none'});
  const canvas = new OffscreenCanvas(prep.width, prep.height);
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.drawImage(bitmap, 0, 0, prep.width, prep.height);
  return context.getImageData(0, 0, prep.width, prep.height).data; // RGBA
}

// Preprocess as the manifest says, lay out as NHWC or NCHW, quantize for integer inputs.
function inputTensor(rgba, prep, spec) {
  const {height, width, channels} = prep;
  const count = height * width * channels;
  const real = new Float32Array(count);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pixel = (y * width + x) * 4;
      for (let c = 0; c < channels; c++) {
        const source = prep.channel_order === 'bgr' && c < 3 ? 2 - c : c; // models trained on OpenCV images
        const value = channels === 1 ? rgba[pixel] : rgba[pixel + source];
        const mean = prep.mean[prep.mean.length === 1 ? 0 : c];
        const std = prep.std[prep.std.length === 1 ? 0 : c];
        const at = prep.layout === 'NCHW' ? (c * height + y) * width + x : (y * width + x) * channels + c;
        real[at] = (value * prep.scale - mean) / std;
      }
    }
  }
  if (spec.dtype === 'float32') return new Tensor(real, spec.shape);
  const {scale, zero_point: zeroPoint} = spec.quantization;
  const quantized = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    quantized[i] = Math.min(255, Math.max(0, Math.round(real[i] / scale) + zeroPoint));
  }
  return new Tensor(quantized, spec.shape);
}

function dequantize(values, spec) {
  if (!spec.quantization) return Array.from(values);
  const {scale, zero_point: zeroPoint} = spec.quantization;
  return Array.from(values, (q) => (q - zeroPoint) * scale);
}

// The files of a zip appended to a .tflite (TFLite Metadata's associated files, stored uncompressed), by name.
function appendedFiles(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const files = new Map();
  let end = bytes.length - 22; // the end-of-central-directory record, before an optional comment
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) return files;
  const count = view.getUint16(end + 10, true);
  const size = view.getUint32(end + 12, true);
  const offset = view.getUint32(end + 16, true);
  const shift = end - size - offset; // offsets are relative to where the archive starts
  const decoder = new TextDecoder();
  for (let i = 0, at = offset + shift; i < count; i++) {
    const method = view.getUint16(at + 10, true);
    const length = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const local = view.getUint32(at + 42, true) + shift;
    const data = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (method === 0) files.set(name, bytes.subarray(data, data + length));
    at += 46 + skip;
  }
  return files;
}

function embeddedClassNames(bytes) {
  const files = appendedFiles(bytes);
  const decoder = new TextDecoder();
  if (files.has('edgex_metadata.json')) {
    const names = JSON.parse(decoder.decode(files.get('edgex_metadata.json'))).class_names;
    return names && names.length ? names : null;
  }
  return files.has('labels.txt') ? decoder.decode(files.get('labels.txt')).trimEnd().split('\n') : null;
}

function addRow(url, scores, top1, classes) {
  const row = document.querySelector('#results tbody').insertRow();
  row.insertCell().textContent = url.split('/').pop();
  const image = document.createElement('img');
  image.src = url;
  row.insertCell().append(image);
  row.insertCell().textContent = classes ? classes[top1] : String(top1);
  row.insertCell().textContent = scores[top1].toFixed(4);
}

async function main() {
  const manifestUrl = new URL(params.get('manifest') || 'dist/edgex-manifest.json', location.href);
  const manifest = await (await fetch(manifestUrl)).json();
  const entry = chooseArtifact(manifest);
  const prep = entry.preprocessing;
  const inputSpec = entry.inputs.find((t) => t.name === prep.input);
  const outputSpec = entry.outputs[0];

  statusLine.textContent = 'loading LiteRT.js';
  await loadLiteRt(new URL(params.get('wasm') || 'node_modules/@litertjs/core/wasm/', location.href).href);
  const modelUrl = new URL(entry.path, manifestUrl).href;
  const embedded = embeddedClassNames(new Uint8Array(await (await fetch(modelUrl)).arrayBuffer()));
  const classes = embedded || entry.classes;
  const model = await loadAndCompile(modelUrl, {accelerator: 'wasm'});
  document.getElementById('model').textContent =
      `${entry.path}: ${entry.target} ${entry.quantization}, input ${inputSpec.dtype} ${prep.layout}, sha256 ${entry.sha256.slice(0, 12)}`;

  const imagesUrl = new URL(params.get('images') || 'images/index.json', location.href);
  const imageUrls = (await (await fetch(imagesUrl)).json()).map((name) => new URL(name, imagesUrl).href);
  const results = [];
  for (const [index, url] of imageUrls.entries()) {
    statusLine.textContent = `classifying ${index + 1}/${imageUrls.length}`;
    const input = inputTensor(await readPixels(url, prep), prep, inputSpec);
    const outputs = await model.run([input]);
    const raw = await outputs[0].data();
    const scores = dequantize(raw, outputSpec);
    input.delete();
    outputs.forEach((tensor) => tensor.delete());
    const top1 = scores.indexOf(Math.max(...scores));
    results.push({image: url.split('/').pop(), top1, label: classes ? classes[top1] : String(top1), scores});
    addRow(url, scores, top1, classes);
  }
  model.delete();
  const labelsFrom = embedded ? 'artifact' : entry.classes ? 'manifest' : null;
  window.edgexResults = {artifact: entry.path, sha256: entry.sha256, cell: entry.cell, labelsFrom, results};
  statusLine.textContent = `done: ${results.length} images classified with ${entry.path} on LiteRT.js (wasm)`;
  document.body.dataset.status = 'done';
}

main().catch((error) => {
  statusLine.textContent = `error: ${error.message}`;
  statusLine.className = 'error';
  window.edgexError = String(error && error.stack || error);
  document.body.dataset.status = 'error';
});
