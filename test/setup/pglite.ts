// e2e:pglite project: every test app gets the embedded PGlite database in a fresh temporary directory.
process.env.HUNZE_TEST_DB = 'pglite';
