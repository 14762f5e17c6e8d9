// Placeholder until the server lands: startServer, createApiKey, revokeApiKey.
export const SERVER_PACKAGE = '@swanlog/server';
