/** What a token can allow. Rights are independent of each other: admin does not imply write, nor write read. */
export type Right = 'read' | 'write' | 'admin';
