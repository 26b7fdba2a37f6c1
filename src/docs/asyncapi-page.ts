/*
 * /docs/websockets: the AsyncAPI document as one plain HTML page, rendered on the server.
 * AsyncAPI's own React renderer pulls in its parser and a large dependency tree for what is,
 * here, two channels and a dozen frames; a table per channel reads as well.
 */

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `code` spans of the documents' Markdown-ish descriptions, the only markup they use. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

interface Message {
  name: string;
  title: string;
  summary: string;
  payload: unknown;
}
interface Channel {
  address: string;
  title: string;
  description: string;
  messages: Record<string, { $ref: string }>;
}

export function renderAsyncApiPage(doc: Record<string, any>): string {
  const components = doc.components.messages as Record<string, Message>;
  const sections = Object.values(doc.channels as Record<string, Channel>).map((channel) => {
    const rows = Object.values(channel.messages).map(({ $ref }) => {
      const message = components[$ref.split('/').pop()!]!;
      return (
        `<tr><td><code>${escapeHtml(message.name)}</code><br><small>${escapeHtml(message.title.replace(/^.*\(|\)$/g, ''))}</small></td>` +
        `<td>${prose(message.summary)}</td><td><pre>${escapeHtml(JSON.stringify(message.payload, null, 2))}</pre></td></tr>`
      );
    });
    return (
      `<section><h2>${escapeHtml(channel.title)} <code>${escapeHtml(channel.address)}</code></h2><p>${prose(channel.description)}</p>` +
      `<table><thead><tr><th>frame</th><th>meaning</th><th>JSON Schema</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
    );
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(doc.info.title)}</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222 }
  table { border-collapse: collapse; width: 100%; table-layout: fixed } td:first-child { width: 9em } td:nth-child(2) { width: 32% }
  td, th { border: 1px solid #ddd; padding: 6px 8px; vertical-align: top; text-align: left }
  pre { margin: 0; font-size: 12px; max-height: 22em; overflow: auto } code { background: #f4f4f4; padding: 0 3px }
</style>
</head>
<body>
<p><a href="/docs">HTTP API reference</a> · <a href="/asyncapi.json">/asyncapi.json</a> (AsyncAPI ${escapeHtml(doc.asyncapi)})</p>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>${prose(doc.info.description)}</p>
${sections.join('\n')}
</body>
</html>
`;
}
