/** Hands `data` to the browser as a download named `name` (an export the page fetched with its credentials). */
export function saveFile(data: Blob, name: string): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // after the click has started the download
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
