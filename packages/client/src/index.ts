// Placeholder until the client lands: createClient, syncRunDir.
export const CLIENT_PACKAGE = '@swanlog/client';
