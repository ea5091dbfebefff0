/** JMH microbenchmarks of vstore's hot paths. */
package io.vstore.bench;
