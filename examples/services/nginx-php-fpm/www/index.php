<?php
printf("Hello from nginx and php-fpm under grace (php-fpm worker %d)\n", getmypid());
