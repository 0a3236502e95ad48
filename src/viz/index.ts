/**
 * glassbox/viz: pictures from plain typed arrays, in Node and in a browser. Colormaps,
 * attribution-map normalisation, image conversion and drawing, PNG encoding/decoding (zlib by fflate), labelled
 * grids, line and scatter plots, interactive SVG charts (Observable Plot) and HTML reports. Writing files lives in './node.ts' (node:fs).
 */
export * from './colormap.ts';
export * from './normalize.ts';
export * from './image.ts';
export * from './png.ts';
export * from './font.ts';
export * from './grid.ts';
export * from './plot.ts';
export * from './chart.ts';
export * from './html.ts';
