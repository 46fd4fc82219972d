// e2e:postgres project: every test app gets its own fresh database on the local PostgreSQL server.
process.env.HUNZE_TEST_DB = 'postgres';
process.env.HUNZE_TEST_PG_ADMIN_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
