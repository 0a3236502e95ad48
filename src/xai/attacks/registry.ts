/** Attacks by name, for the CLI: an L-inf budget for fgsm and pgd, an L2 budget for pgd-l2, none for the minimum-distortion cw and lbfgs. */
import type { Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import type { Attack } from './attack.ts';
import { CW } from './cw.ts';
import { FGSM } from './fgsm.ts';
import { LBFGSAttack } from './lbfgs-attack.ts';
import { PGD } from './pgd.ts';

export const ATTACK_NAMES = ['fgsm', 'pgd', 'pgd-l2', 'cw', 'lbfgs'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

/** The budget an attack takes: L-inf pixels, an L2 distance, or none (it finds the smallest L2 perturbation). */
export const ATTACK_BUDGET: Record<AttackName, 'linf' | 'l2' | 'minimum-l2'> = { fgsm: 'linf', pgd: 'linf', 'pgd-l2': 'l2', cw: 'minimum-l2', lbfgs: 'minimum-l2' };

export interface AttackSettings {
  normalization?: Normalization;
  eps?: number;
  alpha?: number;
  steps?: number;
  restarts?: number;
}

export function checkAttackNames(list: readonly string[]): AttackName[] {
  const unknown = list.filter((n) => !(ATTACK_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`unknown attack ${unknown.map((n) => `'${n}'`).join(', ')}; the attacks are ${ATTACK_NAMES.join(', ')}`);
  return list as AttackName[];
}

export function makeAttack(name: AttackName, model: Module, s: AttackSettings): Attack {
  const { normalization } = s;
  switch (name) {
    case 'fgsm':
      return new FGSM(model, { eps: s.eps, normalization });
    case 'pgd':
      return new PGD(model, { eps: s.eps, alpha: s.alpha, steps: s.steps, restarts: s.restarts, normalization });
    case 'pgd-l2':
      return new PGD(model, { norm: 'l2', eps: s.eps, steps: s.steps, restarts: s.restarts, normalization });
    case 'cw':
      return new CW(model, { normalization });
    case 'lbfgs':
      return new LBFGSAttack(model, { normalization });
  }
}
