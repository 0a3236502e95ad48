/**
 * The drawing pad: a canvas the student draws on with the mouse, a pen or a finger (pointer
 * events), white ink on black like MNIST. `image()` is the drawing made into a 28x28 MNIST digit
 * (mnist-centre.ts); a loaded 28x28 image is used as it is until the next stroke.
 */
import { mnistCentre, MNIST_SIDE } from './mnist-centre.ts';

export type DrawEvent = 'stroke' | 'end' | 'clear' | 'load';

export class DrawPad {
  private drawing = false;
  private last: [number, number] | null = null;
  private loaded: Float32Array | null = null;
  private readonly ctx: CanvasRenderingContext2D;
  /** performance.now() when the last stroke ended (for the lab's timings). */
  strokeEndedAt = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: (e: DrawEvent) => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear(false);
    canvas.style.touchAction = 'none';
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.loaded = null;
      this.last = this.point(e);
      this.dot(this.last);
      this.onChange('stroke');
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      const p = this.point(e);
      this.line(this.last!, p);
      this.last = p;
      this.onChange('stroke');
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.strokeEndedAt = performance.now();
      this.onChange('end');
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  private brush(): void {
    const c = this.ctx;
    c.strokeStyle = c.fillStyle = '#fff';
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = c.lineJoin = 'round';
  }

  private dot([x, y]: [number, number]): void {
    this.brush();
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.ctx.lineWidth / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  }

  private line(a: [number, number], b: [number, number]): void {
    this.brush();
    this.ctx.beginPath();
    this.ctx.moveTo(a[0], a[1]);
    this.ctx.lineTo(b[0], b[1]);
    this.ctx.stroke();
  }

  clear(notify = true): void {
    this.loaded = null;
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (notify) this.onChange('clear');
  }

  /** Shows a 28x28 image in [0, 1] (an MNIST test image, a shared link's) and uses it as the input. */
  load(image: Float32Array): void {
    const small = new ImageData(MNIST_SIDE, MNIST_SIDE);
    image.forEach((v, i) => small.data.set([v * 255, v * 255, v * 255, 255], i * 4));
    const tmp = document.createElement('canvas');
    tmp.width = tmp.height = MNIST_SIDE;
    tmp.getContext('2d')!.putImageData(small, 0, 0);
    this.ctx.imageSmoothingEnabled = true;
    this.ctx.drawImage(tmp, 0, 0, this.canvas.width, this.canvas.height);
    this.loaded = Float32Array.from(image);
    this.onChange('load');
  }

  /** The current input: 28x28 in [0, 1]. */
  image(): Float32Array {
    if (this.loaded) return Float32Array.from(this.loaded);
    const { width: w, height: h } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, w, h).data;
    const ink = new Float32Array(w * h);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[i * 4]! / 255;
    return mnistCentre(ink, w, h);
  }
}
