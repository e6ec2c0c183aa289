/** The file as the repository's prettier config writes it (generated files pass `prettier --check`). */
export async function formatted(path: string, text: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(path)) ?? {};
    return await prettier.format(text, { ...config, filepath: path });
  } catch {
    return text;
  }
}
