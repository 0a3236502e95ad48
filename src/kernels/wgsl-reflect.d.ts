// The ES build of wgsl_reflect (see pipelines.ts) has the package's own types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
