/** The few HTML pages the sandbox serves are built from escaped strings, never from templates with raw input. */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="ro">',
    '<head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:sans-serif;max-width:44em;margin:2em auto;padding:0 1em}',
    'dl{display:grid;grid-template-columns:max-content auto;gap:.3em 1em}dt{font-weight:bold}',
    'form{display:inline-block;margin-right:1em}button{font-size:1.1em;padding:.4em 1.2em}</style>',
    '</head>',
    `<body>${body}</body>`,
    '</html>',
  ].join('\n');
}
