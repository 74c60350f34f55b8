console.log('cortex-proxy');
