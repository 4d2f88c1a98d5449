// The simulator ships inside the library (`nestjs-alipay-auth/testing`); this app is its standalone main.
export * from '../../../libs/alipay-auth/src/testing/simulator';
