/** What a browser without WebGPU shows instead of a blank page: what is missing and what to use. */
export function showNoWebGpu(reason: string): void {
  const box = document.getElementById('no-webgpu')!;
  box.hidden = false;
  box.querySelector('.reason')!.textContent = reason;
  document.getElementById('lab')!.hidden = true;
  document.getElementById('status')!.textContent = 'WebGPU is not available';
}
