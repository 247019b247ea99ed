"""What goes into an image: the Dockerfile, the build context and .dockerignore, the build hash, the lock file's pins."""
