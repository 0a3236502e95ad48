/**
 * Turning WebGPU allocation failures into glassbox errors that name the sizes and the op.
 *
 * Sizes the device can never hold are refused at once. Out-of-memory and validation errors arrive
 * asynchronously: each new GPU buffer is created inside an error scope whose result, when it
 * fails, is queued with the buffer's size, what it was for, and the kernel dispatched next (the op
 * that wanted it); the next readback or sync throws it (throwDeviceErrors in gpu.ts). Buffers are
 * created rarely (pools reuse them), so the scopes cost nothing in a steady training loop.
 */
import { reportDeviceError } from './gpu.ts';

interface Allocation {
  bytes: number;
  what: string;
  op?: string;
}

/** Allocations made since the last dispatch: the next dispatch is the op they were made for. */
let awaitingOp: Allocation[] = [];
const MAX_AWAITING = 64;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function checkedCreateBuffer(device: GPUDevice, desc: GPUBufferDescriptor, what: string): GPUBuffer {
  const bytes = desc.size;
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new Error(`glassbox: cannot allocate a GPU buffer of ${bytes} bytes for ${what}; sizes must be positive finite numbers`);
  const max = device.limits.maxBufferSize;
  if (bytes > max)
    throw new Error(`glassbox: ${what} needs a GPU buffer of ${bytes} bytes (${mib(bytes)}), more than this device's maxBufferSize of ${max} bytes (${mib(max)}); use smaller batches or shapes`);
  const allocation: Allocation = { bytes, what };
  if (awaitingOp.length >= MAX_AWAITING) awaitingOp = []; // uploads without dispatches: those keep no op name
  awaitingOp.push(allocation);
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const buffer = device.createBuffer(desc);
  const report = (error: GPUError | null) => {
    if (!error) return;
    const op = allocation.op ? ` (op '${allocation.op}')` : '';
    reportDeviceError(`allocating ${bytes} bytes (${mib(bytes)}) for ${what}${op} failed: ${error.message}`);
  };
  void device.popErrorScope().then(report, () => {});
  void device.popErrorScope().then(report, () => {});
  return buffer;
}

/** Tells the allocations made since the previous dispatch which kernel they were made for. */
export function noteDispatch(kernel: string): void {
  if (awaitingOp.length === 0) return;
  for (const a of awaitingOp) a.op = kernel;
  awaitingOp = [];
}
