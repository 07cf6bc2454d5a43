// Copies every file under src/assets/ except TypeScript sources to lib/assets/,
// keeping the tree and the file modes (scripts stay executable).
// Run by the `copy-assets` task, which the `compile` task spawns.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'src', 'assets');
const to = path.join(root, 'lib', 'assets');

function isShipped(file) {
  // Not TypeScript sources, nor Python bytecode a local run may have left.
  return !file.endsWith('.ts') && !file.endsWith('.pyc');
}

fs.rmSync(to, { recursive: true, force: true });
let copied = 0;
if (fs.existsSync(from)) {
  fs.cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      if (fs.statSync(src).isDirectory()) return path.basename(src) !== '__pycache__';
      if (!isShipped(src)) return false;
      copied += 1;
      return true;
    },
  });
}
console.log(`copy-assets: ${copied} file(s) from src/assets/ to lib/assets/`);
