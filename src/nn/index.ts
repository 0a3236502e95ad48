/** The `nn` namespace: modules, layers and initialisation. */
export { Module, Parameter, setParameterMask, parameterMask, type ForwardHook, type ForwardPreHook } from './module.ts';
export * from './layers.ts';
export * from './conv-layers.ts';
export * as init from './init.ts';
export * from './safetensors.ts';
export { withModuleRule, type ModuleRule, type ModuleRuleContext } from './module-rule.ts';
export { summary, type ModelSummary, type SummaryRow } from './summary.ts';
export { assertFiniteParameters, nonFiniteTensors, type NonFinite } from './finite-check.ts';
