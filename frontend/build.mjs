// Copies the vendored browser builds into Django's static folder. No bundler is needed: htmx and ECharts ship
// ready-to-serve minified files; they are served locally by WhiteNoise.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "gongzhi", "web", "static", "vendor");
mkdirSync(out, { recursive: true });
const files = [
  ["node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["node_modules/echarts/dist/echarts.min.js", "echarts.min.js"],
];
for (const [from, to] of files) {
  copyFileSync(join(here, from), join(out, to));
  console.log(`copied ${from} -> static/vendor/${to}`);
}
