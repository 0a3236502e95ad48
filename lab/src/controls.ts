/** Form controls built from the method's option list (explain.ts's OptionControl). */
import type { OptionControl, OptionValues } from './explain.ts';

export function renderOptionControls(el: HTMLElement, controls: readonly OptionControl[], values: OptionValues, onChange: (key: string, value: number | string) => void): void {
  el.replaceChildren(
    ...controls.map((c) => {
      const label = document.createElement('label');
      label.textContent = c.label + ' ';
      let input: HTMLInputElement | HTMLSelectElement;
      if (c.choices) {
        input = document.createElement('select');
        for (const choice of c.choices) input.append(new Option(choice, choice));
      } else {
        input = Object.assign(document.createElement('input'), { type: 'number' });
        Object.assign(input, { min: String(c.range!.min), max: String(c.range!.max), step: String(c.range!.step) });
      }
      input.id = `opt-${c.key}`;
      input.value = String(values[c.key] ?? c.default);
      input.onchange = () => {
        if (c.choices) return onChange(c.key, input.value);
        const v = Number(input.value);
        const { min, max, step } = c.range!;
        const clamped = Number.isFinite(v) ? Number((Math.round(Math.min(max, Math.max(min, v)) / step) * step).toFixed(6)) : Number(c.default);
        input.value = String(clamped);
        onChange(c.key, clamped);
      };
      label.append(input);
      return label;
    }),
  );
}
