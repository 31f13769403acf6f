/* The runc-compatible command line (`mascri create|start|state|...`). */
#ifndef MASCRI_RUNTIME_CLI_CLI_H
#define MASCRI_RUNTIME_CLI_CLI_H

/* argv[0] is the program name; returns the process exit status. */
int mascri_runtime_cli_main(int argc, char **argv);

#endif
