/* `mascri image pull|ls|inspect|rm|tag|import|save|prune`. */
#ifndef MASCRI_IMAGE_CLI_IMAGE_CLI_H
#define MASCRI_IMAGE_CLI_IMAGE_CLI_H

/* argv[0] is "image"; returns the process exit status. */
int mascri_image_cli_main(int argc, char **argv);

#endif
