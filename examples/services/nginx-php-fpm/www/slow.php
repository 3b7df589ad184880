<?php
// A request that takes 2 s: one in flight when the stop begins still
// gets its answer.
sleep(2);
printf("Slow hello, finished at %s\n", date("H:i:s"));
