// Builds the dashboard's static bundle into dist/ (git-ignored), which Django serves through whitenoise.
//
//   dist/css/app.css     Bootstrap 5 (themed), bootstrap-icons, uPlot and the dashboard's own styles
//   dist/js/app.js       Bootstrap's behaviour plus the dashboard helpers (uploads with progress, copy, confirm)
//   dist/js/charts.js    uPlot and the chart module, loaded only by pages that draw charts
//   dist/fonts/          the icon fonts
//   dist/img/            images of our own (the favicon)
//   dist/.built          written last: its presence tells `inv build-statics` the bundle is complete
//
// Everything comes from node_modules, so after `npm ci` the build runs offline. `--watch` rebuilds on changes.
import { copyFileSync, cpSync, mkdirSync, rmSync, watch, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import * as sass from "sass";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const watching = process.argv.includes("--watch");

function buildCss() {
  const result = sass.compile(join(root, "src/scss/app.scss"), {
    loadPaths: [join(root, "node_modules")],
    style: "compressed",
    // Bootstrap's own sources raise Sass deprecation notices that are not ours to fix.
    quietDeps: true,
  });
  mkdirSync(join(dist, "css"), { recursive: true });
  writeFileSync(join(dist, "css/app.css"), result.css);
}

function copyAssets() {
  const fonts = join(root, "node_modules/bootstrap-icons/font/fonts");
  mkdirSync(join(dist, "fonts"), { recursive: true });
  for (const name of ["bootstrap-icons.woff2", "bootstrap-icons.woff"]) {
    copyFileSync(join(fonts, name), join(dist, "fonts", name));
  }
  cpSync(join(root, "src/img"), join(dist, "img"), { recursive: true });
}

const jsOptions = {
  entryPoints: { app: join(root, "src/js/app.js"), charts: join(root, "src/js/charts.js") },
  outdir: join(dist, "js"),
  bundle: true,
  format: "iife",
  minify: !watching,
  sourcemap: "linked",
  target: ["es2020"],
  legalComments: "eof",
  logLevel: "warning",
};

function markBuilt() {
  writeFileSync(join(dist, ".built"), `${new Date().toISOString()}\n`);
}

async function buildOnce() {
  rmSync(dist, { recursive: true, force: true });
  buildCss();
  copyAssets();
  await esbuild.build(jsOptions);
  markBuilt();
  console.log(`webapp: bundle built in ${dist}`);
}

async function buildWatching() {
  await buildOnce();
  const context = await esbuild.context(jsOptions);
  await context.watch();
  watch(join(root, "src/scss"), { recursive: true }, () => {
    try {
      buildCss();
      console.log("webapp: css rebuilt");
    } catch (error) {
      console.error(error.message);
    }
  });
  console.log("webapp: watching src/ for changes (Ctrl-C stops)");
}

try {
  await (watching ? buildWatching() : buildOnce());
} catch (error) {
  console.error(error.message ?? error);
  process.exit(1);
}
