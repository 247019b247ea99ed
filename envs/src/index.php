<?php echo "Hello from devenv, PHP " . PHP_VERSION . "\n";
