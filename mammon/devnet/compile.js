// Offline Solidity compiler for mammon.devnet.
//
// Why: the devnet needs a few small contracts (ERC-4626 vault, Moonwell and Aerodrome
// stand-ins) that have no published bytecode. solc-js (the `solc` npm package) ships the
// compiler as JavaScript, so no compiler download is needed at run time.
//
// Protocol: reads a solc standard-JSON input on stdin, writes the standard-JSON output on
// stdout. Imports that are not in the input (e.g. "@openzeppelin/contracts/...") are read
// from node_modules next to this repository's package.json.
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..');
const solc = require(path.join(repoRoot, 'node_modules', 'solc'));

function findImports(importPath) {
  const candidates = [
    path.join(repoRoot, 'node_modules', importPath),
    path.join(__dirname, 'contracts', importPath),
  ];
  for (const file of candidates) {
    if (fs.existsSync(file)) {
      return { contents: fs.readFileSync(file, 'utf8') };
    }
  }
  return { error: 'File not found: ' + importPath };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
